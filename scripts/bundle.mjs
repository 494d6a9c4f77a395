// Bundles the action and the CLI with ncc into dist/ (committed: it is what GitHub runs).
// ncc type-checks src/ with tsconfig.json; tests are checked with tsconfig.test.json by `npm run typecheck`.
import { execFileSync } from 'node:child_process'
import { rmSync } from 'node:fs'

const ncc = ['node_modules/@vercel/ncc/dist/ncc/cli.js', 'build', '--minify', '--license', 'licenses.txt']
rmSync('dist', { recursive: true, force: true })
execFileSync('node', [...ncc, 'src/index.ts', '-o', 'dist'], { stdio: 'inherit' })
execFileSync('node', [...ncc, 'src/cli/index.ts', '-o', 'dist/cli'], { stdio: 'inherit' })
