// The widget's CDN builds, Lit bundled into each: `<call-us-button>` as one minified ESM file and one
// IIFE file (the `/widget.js` loader injects the IIFE), `<call-popup>` as one ESM file. Each starts from
// its own tag module, so a bundle carries only its own element. Each has a source map beside it. The npm build is `tsc -b` (ESM + .d.ts,
// Lit left as a dependency); these bundle that output.
import { nodeResolve } from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import { transform } from 'esbuild';

/**
 * Minifies the elements' stylesheets (the `css` tagged templates, which terser leaves as they are
 * written: indentation, newlines and all) with esbuild's CSS minifier. Only templates without
 * `${…}` are touched: a placeholder would be cut out of its context. The targets are the browsers the
 * widget supports, so no newer syntax is introduced and none is lowered needlessly.
 */
function minifyStyles() {
  const TEMPLATE = /\bcss\s*`([^`]*)`/g;
  return {
    name: 'minify-styles',
    async transform(code, id) {
      if (!id.includes(`${widget}/dist/`) || !TEMPLATE.test(code)) return null;
      TEMPLATE.lastIndex = 0;
      let result = '';
      let last = 0;
      for (const match of code.matchAll(TEMPLATE)) {
        if (match[1].includes('${') || match[1].includes('\\')) continue;
        const { code: minified } = await transform(match[1], {
          loader: 'css',
          minify: true,
          target: ['chrome111', 'firefox115', 'safari16'],
        });
        result += `${code.slice(last, match.index)}css\`${minified.trim()}\``;
        last = match.index + match[0].length;
      }
      return { code: result + code.slice(last), map: null };
    },
  };
}

const widget = 'packages/widget';
const plugins = [nodeResolve({ browser: true, exportConditions: ['production'] }), minifyStyles()];
const banner = (tag) =>
  `/*! @beckon/widget <${tag}> | MIT | bundles Lit: Copyright 2017-2019 Google LLC, SPDX-License-Identifier: BSD-3-Clause */`;

/**
 * terser, with Lit's license comments dropped: its eight modules each carry the same notice, which the
 * banner above now carries once. Three compress passes: each finds a little more to fold.
 */
const terserOptions = (module) => ({
  ecma: 2021,
  module,
  compress: { passes: 3 },
  format: { comments: /^!/ },
});

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
        plugins: [terser(terserOptions(true))],
      },
      {
        file: `${widget}/cdn/call-us-button.iife.js`,
        format: 'iife',
        name: 'BeckonWidget',
        banner: banner('call-us-button'),
        sourcemap: true,
        plugins: [terser(terserOptions(false))],
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
      plugins: [terser(terserOptions(true))],
    },
  },
];
