import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [
    vue({
      template: {
        // Vue renders these tags as the custom elements they are instead of looking for Vue components.
        compilerOptions: { isCustomElement: (tag) => tag === 'call-us-button' || tag === 'call-popup' },
      },
    }),
  ],
  build: {
    // Three pages, three apps: plain TypeScript, React 19 and Vue 3.
    rollupOptions: { input: { plain: 'index.html', react: 'react.html', vue: 'vue.html' } },
  },
});
