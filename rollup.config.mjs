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

/**
 * Collapses the layout whitespace of the elements' `html` tagged templates (their indentation and line
 * breaks, which terser keeps: they are string content). Only whitespace runs holding a line break are
 * touched; whitespace never carries meaning in these templates (no `<pre>`, no `white-space: pre`).
 * - A run goes when it lies between markup edges: after a `>`, a `${…}` or the template's start, and
 *   before a `<`, a `>`, a `${…}` or the template's end (but not between two `${…}`, which may both be
 *   text). There it is either inside a tag before its `>`, or a whitespace-only text node between
 *   elements that are blocks, flex items or options, where it renders nothing. Inline markup that
 *   needs a space beside it gets that space on the same line (see the popup's visually hidden text).
 * - Anywhere else (between attributes, within text) it becomes one space, as HTML renders it anyway.
 * Templates are found in the module's syntax tree, so a `${…}` holding a nested template is not misread.
 * Gzip: −91 B on each `<call-us-button>` bundle, −58 B on `<call-popup>`'s.
 */
function minifyTemplates() {
  const LAYOUT = /\s*\n\s*/g;
  return {
    name: 'minify-templates',
    transform(code, id) {
      if (!id.includes(`${widget}/dist/`) || !/\bhtml\s*`/.test(code)) return null;
      const edits = [];
      const visit = (node) => {
        if (!node || typeof node.type !== 'string') return;
        if (node.type === 'TaggedTemplateExpression' && node.tag.type === 'Identifier' && node.tag.name === 'html') {
          const { quasis } = node.quasi;
          quasis.forEach((quasi, index) => {
            const raw = code.slice(quasi.start, quasi.end);
            const collapsed = raw.replace(LAYOUT, (run, offset) => {
              const before = offset === 0 ? (index === 0 ? '' : '}') : raw[offset - 1];
              const after = offset + run.length === raw.length ? (index === quasis.length - 1 ? '' : '$') : raw[offset + run.length];
              const openEnd = before === '' || before === '>' || before === '}';
              const closeEnd = after === '' || after === '<' || after === '$' || after === '>';
              return openEnd && closeEnd && !(before === '}' && after === '$') ? '' : ' ';
            });
            if (collapsed !== raw) edits.push({ start: quasi.start, end: quasi.end, text: collapsed });
          });
        }
        for (const value of Object.values(node)) {
          if (Array.isArray(value)) value.forEach(visit);
          else if (value && typeof value === 'object') visit(value);
        }
      };
      visit(this.parse(code));
      if (edits.length === 0) return null;
      edits.sort((a, b) => a.start - b.start);
      let result = '';
      let last = 0;
      for (const { start, end, text } of edits) {
        result += code.slice(last, start) + text;
        last = end;
      }
      return { code: result + code.slice(last), map: null };
    },
  };
}

const widget = 'packages/widget';
const plugins = [nodeResolve({ browser: true, exportConditions: ['production'] }), minifyStyles(), minifyTemplates()];
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
