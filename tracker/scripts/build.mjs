// Minify src/sl.js into dist/sl.js (or into the path given as the first argument).
// The output is deterministic: the same source and terser version give the same bytes,
// which the tests use to check that the committed dist/sl.js is not stale.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { minify } from 'terser'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const out = resolve(process.argv[2] || resolve(root, 'dist/sl.js'))
const source = readFileSync(resolve(root, 'src/sl.js'), 'utf8')

const { code } = await minify(source, {
  ecma: 2018,
  toplevel: true,
  compress: { passes: 3, unsafe: true, unsafe_arrows: true },
  mangle: true,
  format: { comments: false }
})

mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, code + '\n')
console.log(`built ${out}`)
