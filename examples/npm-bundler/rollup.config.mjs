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
  onwarn(warning, warn) {
    // @beckon/widget 0.1.0's build inlines TypeScript's decorator helper, which starts with
    // `this && this.__decorate`; at the top of an ES module `this` is undefined, so rollup's rewrite
    // changes nothing. Silence only that warning, only for that package (node_modules/@beckon/widget,
    // or packages/widget when this runs inside the Beckon repository, where it is a workspace link).
    if (warning.code === 'THIS_IS_UNDEFINED' && /[\\/](@beckon|packages)[\\/]widget[\\/]/.test(warning.id ?? '')) return;
    warn(warning);
  },
};
