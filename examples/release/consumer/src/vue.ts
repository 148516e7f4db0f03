import '@beckon/widget'; // defines <call-us-button> before Vue renders it, so `strings` is set as a property
import type {} from '@beckon/widget/vue'; // template types for <call-us-button> and <call-popup>
import { createApp } from 'vue';
import App from './App.vue';

createApp(App).mount('#app');
