// The widget's CDN builds, Lit bundled into each: `<call-us-button>` as one minified ESM file and one
// IIFE file (the `/widget.js` loader injects the IIFE), `<call-popup>` as one ESM file. Each starts from
// its own tag module, so a bundle carries only its own element. Each has a source map beside it. The npm build is `tsc -b` (ESM + .d.ts,
// Lit left as a dependency); these bundle that output.
import { nodeResolve } from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';

const widget = 'packages/widget';
const plugins = [nodeResolve({ browser: true, exportConditions: ['production'] })];
const banner = (tag) => `/*! @beckon/widget <${tag}> | MIT | Lit (BSD-3-Clause) bundled */`;

export default [
  {
    input: `${widget}/dist/call-us-button.js`,
    plugins,
    output: [
      {
        file: `${widget}/cdn/call-us-button.js`,
        format: 'es',
        banner: banner('call-us-button'),
        sourcemap: true,
        plugins: [terser({ ecma: 2021, module: true })],
      },
      {
        file: `${widget}/cdn/call-us-button.iife.js`,
        format: 'iife',
        name: 'BeckonWidget',
        banner: banner('call-us-button'),
        sourcemap: true,
        plugins: [terser({ ecma: 2021 })],
      },
    ],
  },
  {
    input: `${widget}/dist/call-popup.js`,
    plugins,
    output: {
      file: `${widget}/cdn/call-popup.js`,
      format: 'es',
      banner: banner('call-popup'),
      sourcemap: true,
      plugins: [terser({ ecma: 2021, module: true })],
    },
  },
];
