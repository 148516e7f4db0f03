// The demo page's own script: the live list of what the NetSapiens sandbox received and sent, the
// buttons that play NetSapiens', the operator's and a calling customer's parts, and <call-popup>'s tokens.
const list = document.getElementById('events');
const empty = document.getElementById('empty');

function describe(event) {
  const time = new Date(event.at).toLocaleTimeString();
  switch (event.kind) {
    case 'call':
      return (
        `${time} — queued call to ${event.destination}, into queue ${event.queue}` +
        (event.status === 'failed' ? ` (failed: ${event.reason})` : '')
      );
    case 'text':
      return `${time} — text to ${event.destination}${event.from ? ` from ${event.from}` : ''}: “${event.message}”`;
    case 'subscription':
      return `${time} — subscription: Beckon's webhook gets the calls of ${event.domain} (model ${event.model})`;
    case 'delivery':
      return (
        `${time} — call ${event.state}: from ${event.from}${event.fromName ? ` (${event.fromName})` : ''} to ${event.to}, posted to Beckon's webhook ` +
        (event.status === null ? `(not delivered: ${event.error})` : `(${event.status})`)
      );
    case 'ringcentral':
      return (
        `${time} — RingCentral: call ${event.status} from ${event.from}${event.fromName ? ` (${event.fromName})` : ''}, posted to Beckon's webhook ` +
        `(${event.answered})`
      );
    default:
      return `${time} — provisioning: ${event.action} ${event.name}`;
  }
}

function add(event) {
  const item = document.createElement('li');
  item.className = event.kind;
  item.textContent = describe(event);
  list.prepend(item);
  empty.hidden = true;
}

new EventSource('/demo/events').onmessage = (message) => add(JSON.parse(message.data));
fetch('/demo/history')
  .then((response) => response.json())
  .then((events) => events.forEach(add));

document.getElementById('simulate-call').addEventListener('submit', async (event) => {
  event.preventDefault();
  const caller = new FormData(event.target).get('caller').replace(/\D/g, '');
  // The server plays NetSapiens: it calls the URL of the dial rule (signed once the SMS form was posted).
  const response = await fetch(`/demo/call?caller=${encodeURIComponent(caller)}`, { method: 'POST' });
  const answer = await response.json();
  document.getElementById('call-result').textContent = `Beckon answered NetSapiens (${answer.status}):\n${answer.xml ?? answer.message}`;
});

document.getElementById('sms-form').addEventListener('click', async () => {
  const response = await fetch('/demo/sms-form', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  document.getElementById('form-result').textContent = JSON.stringify(await response.json(), null, 2);
});

// <call-popup> asks for a token before each connection; the demo server issues one for its demo app,
// as a site's own backend would with its app key.
customElements.whenDefined('call-popup').then(() => {
  document.querySelector('call-popup').streamToken = async () => {
    const response = await fetch('/demo/stream-token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    if (!response.ok) throw new Error(`No stream token (${response.status})`);
    return (await response.json()).token;
  };
});

async function incomingCall(provider) {
  const response = await fetch('/demo/incoming-call', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ provider }),
  });
  const answer = await response.json();
  const who = provider === 'ringcentral' ? 'The RingCentral stand-in rings' : 'The sandbox rings';
  document.getElementById('incoming-result').textContent = response.ok
    ? `${who} ${answer.to}: ${answer.customer} is calling from ${answer.from}.`
    : answer.message;
}
document.getElementById('incoming-call').addEventListener('click', () => incomingCall('netsapiens'));
document.getElementById('incoming-ringcentral-call').addEventListener('click', () => incomingCall('ringcentral'));
