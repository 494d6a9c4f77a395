/**
 * Separates credentials written into a URL (`https://user:pass@host/`) from it. fetch refuses such URLs,
 * and its error message would repeat them; the credentials travel as a basic-auth header instead.
 */
export function takeUrlCredentials(url: URL): { url: URL; authorization?: string } {
  if (!url.username && !url.password) return { url }
  const userinfo = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`
  const bare = new URL(url)
  bare.username = ''
  bare.password = ''
  return { url: bare, authorization: `Basic ${Buffer.from(userinfo).toString('base64')}` }
}
