import '@beckon/widget'; // defines <call-us-button>

const button = document.querySelector('call-us-button');
button?.addEventListener('call-us-success', (event) => console.log('calling', event.detail.phoneNumber));
button?.addEventListener('call-us-error', (event) => console.warn(event.detail.status, event.detail.message));
