// The widget's CDN build: one minified ESM file and one IIFE file, Lit bundled in.
// The npm build is `tsc -b` (ESM + .d.ts, Lit left as a dependency); this bundles that output.
import { nodeResolve } from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';

const widget = 'packages/widget';
const banner = '/*! @beckon/widget <call-us-button> | MIT | Lit (BSD-3-Clause) bundled */';

export default {
  input: `${widget}/dist/index.js`,
  plugins: [nodeResolve({ browser: true, exportConditions: ['production'] })],
  output: [
    { file: `${widget}/cdn/call-us-button.js`, format: 'es', banner, plugins: [terser({ ecma: 2021, module: true })] },
    { file: `${widget}/cdn/call-us-button.iife.js`, format: 'iife', name: 'BeckonWidget', banner, plugins: [terser({ ecma: 2021 })] },
  ],
};
