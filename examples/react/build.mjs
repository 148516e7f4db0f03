// Bundles the app (src/main.jsx: React, react-dom, @beckon/widget and Lit) into dist/main.js.
//   node build.mjs          production build, minified
//   node build.mjs --dev    React's development build (extra warnings in the console), not minified
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const dev = process.argv.includes('--dev');

await build({
  absWorkingDir: fileURLToPath(new URL('.', import.meta.url)),
  entryPoints: ['src/main.jsx'],
  outdir: 'dist',
  bundle: true,
  format: 'esm',
  target: 'es2022',
  // The automatic runtime: JSX compiles to react/jsx-runtime calls, no `import React` needed.
  jsx: 'automatic',
  // React picks its development or production build from this; browsers have no `process`.
  define: { 'process.env.NODE_ENV': JSON.stringify(dev ? 'development' : 'production') },
  minify: !dev,
  sourcemap: true,
  logLevel: 'warning',
});
