// Print the gzipped size of the built dashboard's JavaScript and CSS (dist/assets) and
// fail when their sum is above the budget.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { constants, gzipSync } from 'node:zlib'

const LIMIT = 150 * 1024 // bytes, gzipped, JS + CSS
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const assets = resolve(process.argv[2] || resolve(root, 'dist/assets'))
let total = 0
for (const name of readdirSync(assets).sort()) {
  if (!/\.(js|css)$/.test(name)) continue
  const code = readFileSync(resolve(assets, name))
  const gzipped = gzipSync(code, { level: constants.Z_BEST_COMPRESSION }).length
  total += gzipped
  console.log(`${name}: ${code.length} bytes raw, ${gzipped} bytes gzipped`)
}
console.log(`total JS + CSS gzipped: ${total} bytes (${(total / 1024).toFixed(1)} KB; limit ${LIMIT / 1024} KB)`)
if (total === 0) {
  console.error(`nothing built in ${assets}: run npm run build`)
  process.exit(1)
}
if (total > LIMIT) {
  console.error(`size check failed: ${total} bytes gzipped is above ${LIMIT}`)
  process.exit(1)
}
console.log('size check passed')
