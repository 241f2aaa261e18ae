// Print the raw and gzipped size of the built tracker (dist/sl.js, or the path given as
// the first argument) and fail when the gzipped size is above the budget.
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { constants, gzipSync } from 'node:zlib'

const LIMIT = 1000 // bytes, gzipped
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const file = resolve(process.argv[2] || resolve(root, 'dist/sl.js'))
const code = readFileSync(file)
const gzipped = gzipSync(code, { level: constants.Z_BEST_COMPRESSION }).length

console.log(`${file}`)
console.log(`raw: ${code.length} bytes`)
console.log(`gzipped: ${gzipped} bytes (limit ${LIMIT})`)
if (gzipped > LIMIT) {
  console.error(`size check failed: ${gzipped} bytes gzipped is above ${LIMIT}`)
  process.exit(1)
}
console.log('size check passed')
