// The demo page's own script: the live list of what the NetSapiens sandbox received, and the two
// buttons that play NetSapiens' and the operator's parts.
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
