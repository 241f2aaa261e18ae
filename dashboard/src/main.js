import 'uplot/dist/uPlot.min.css'
import './styles.css'
import { render } from 'preact'
import { html } from './html.js'
import { App } from './components/app.js'

render(html`<${App} />`, document.getElementById('app'))
