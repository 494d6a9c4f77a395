/** A throwaway CA and a server certificate for 127.0.0.1 signed by it (kubectl, a Go client, verifies the chain). */
import { generate } from 'selfsigned'

export interface TlsMaterial {
  caCert: string
  cert: string
  key: string
}

let cached: Promise<TlsMaterial> | undefined

/** One CA and server certificate per process: generating keys is the slow part of starting a server. */
export function tlsMaterial(): Promise<TlsMaterial> {
  if (!cached) cached = make()
  return cached
}

async function make(): Promise<TlsMaterial> {
  const notBeforeDate = new Date(Date.now() - 60 * 60 * 1000)
  const notAfterDate = new Date(Date.now() + 7 * 24 * 60 * 60 * 1000)
  const ca = await generate([{ name: 'commonName', value: 'kube-api-test-ca' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }
    ]
  })
  const server = await generate([{ name: 'commonName', value: 'kube-apiserver' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 2, value: 'localhost' },
          { type: 2, value: 'kubernetes.default.svc' }
        ]
      }
    ]
  })
  return { caCert: ca.cert, cert: server.cert, key: server.private }
}
