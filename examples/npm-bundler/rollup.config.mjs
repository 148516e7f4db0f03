// Bundles src/main.js, with @beckon/widget and Lit from node_modules, into one minified ES module.
import nodeResolve from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';

export default {
  input: 'src/main.js',
  output: { dir: 'dist', format: 'es', sourcemap: true },
  plugins: [
    // `browser: true` picks packages' browser builds; without the "development" condition, Lit
    // resolves to its production build (no dev-mode warnings, smaller).
    nodeResolve({ browser: true }),
    terser({ format: { comments: false } }),
  ],
};
