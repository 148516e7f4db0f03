import type { CallPopupStrings } from './en.js';

export const es: CallPopupStrings = {
  region: 'Llamadas entrantes',
  incomingCall: 'Llamada entrante',
  unknownCaller: 'Llamante desconocido',
  newCaller: 'Llamante nuevo',
  viewCustomer: 'Ver cliente',
  newTab: '(se abre en una pestaña nueva)',
  dismiss: 'Descartar',
};
