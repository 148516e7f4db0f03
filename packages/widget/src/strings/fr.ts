import type { CallUsStrings } from './en.js';

export const fr: CallUsStrings = {
  buttonText: 'Appelez-nous',
  heading: 'Demander un appel',
  description: 'Saisissez votre numéro de téléphone et nous vous appelons tout de suite.',
  phoneLabel: 'Votre numéro de téléphone',
  submit: 'Appelez-moi',
  cancel: 'Annuler',
  close: 'Fermer',
  sending: 'Envoi de votre demande…',
  success: 'Nous vous appelons maintenant.',
  invalidPhone: 'Veuillez saisir un numéro de téléphone valide (au moins 7 chiffres).',
  tooManyRequests: 'Trop de demandes. Veuillez réessayer dans quelques minutes.',
  genericError: 'Une erreur est survenue. Veuillez réessayer plus tard.',
  notConfigured: "Ce bouton d'appel n'est pas configuré.",
  notAllowedHere: "Ce bouton d'appel ne peut pas être utilisé sur ce site.",
  verificationFailed: 'Veuillez terminer la vérification et réessayer.',
  invalidNumber: 'Veuillez saisir un numéro de téléphone valide.',
  countryNotAllowed: 'Désolé, nous ne pouvons pas appeler les numéros de ce pays.',
  numberNotAllowed: 'Désolé, nous ne pouvons pas appeler ce numéro.',
  callFailed: "Nous n'avons pas pu passer votre appel pour le moment. Veuillez réessayer.",
};
