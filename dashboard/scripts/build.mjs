// Bundle and minify the dashboard into dist/: dist/assets/<name>-<hash>.{js,css,svg}
// (content-hashed: served with a one-year cache) and dist/index.html naming them (served
// with no-cache). A build replaces dist/ whole, so no stale asset is left behind.
import { build } from 'esbuild'
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const dist = resolve(root, 'dist')
const assets = resolve(dist, 'assets')
const BASE = '/dashboard/assets/'

rmSync(dist, { recursive: true, force: true })
mkdirSync(assets, { recursive: true })

const result = await build({
  entryPoints: { app: resolve(root, 'src/main.js'), theme: resolve(root, 'src/theme-boot.js') },
  outdir: assets,
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning'
})

const outputs = Object.entries(result.metafile.outputs)
const appJs = basename(outputs.find(([, i]) => i.entryPoint?.endsWith('src/main.js'))[0])
const themeJs = basename(outputs.find(([, i]) => i.entryPoint?.endsWith('src/theme-boot.js'))[0])
const appCss = basename(outputs.find(([f]) => f.endsWith('.css'))[0])

const icon = readFileSync(resolve(root, 'src/icon.svg'))
const iconName = `icon-${createHash('sha256').update(icon).digest('hex').slice(0, 8)}.svg`
writeFileSync(resolve(assets, iconName), icon)

const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="same-origin">
<title>Sitelens</title>
<link rel="icon" type="image/svg+xml" href="${BASE}${iconName}">
<link rel="stylesheet" href="${BASE}${appCss}">
<script src="${BASE}${themeJs}"></script>
<script type="module" src="${BASE}${appJs}"></script>
</head>
<body>
<div id="app"><noscript>The Sitelens dashboard needs JavaScript.</noscript></div>
</body>
</html>
`
writeFileSync(resolve(dist, 'index.html'), html)
for (const name of [appJs, appCss, themeJs, iconName]) console.log(`built dist/assets/${name}`)
console.log('built dist/index.html')
