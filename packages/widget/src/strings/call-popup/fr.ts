import type { CallPopupStrings } from './en.js';

export const fr: CallPopupStrings = {
  region: 'Appels entrants',
  incomingCall: 'Appel entrant',
  unknownCaller: 'Appelant inconnu',
  newCaller: 'Nouvel appelant',
  viewCustomer: 'Voir le client',
  newTab: '(s’ouvre dans un nouvel onglet)',
  dismiss: 'Ignorer',
};
