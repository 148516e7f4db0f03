import type { CallUsStrings } from './en.js';

export const es: CallUsStrings = {
  buttonText: 'Llámenos',
  heading: 'Solicitar una llamada',
  description: 'Escriba su número de teléfono y le llamaremos enseguida.',
  phoneLabel: 'Su número de teléfono',
  submit: 'Llámenme',
  cancel: 'Cancelar',
  close: 'Cerrar',
  sending: 'Enviando su solicitud…',
  success: 'Le estamos llamando ahora.',
  invalidPhone: 'Introduzca un número de teléfono válido (al menos 7 dígitos).',
  tooManyRequests: 'Demasiadas solicitudes. Vuelva a intentarlo en unos minutos.',
  genericError: 'Algo salió mal. Vuelva a intentarlo más tarde.',
  notConfigured: 'Este botón de llamada no está configurado.',
  notAllowedHere: 'Este botón de llamada no se puede usar en este sitio.',
  verificationFailed: 'Complete la verificación y vuelva a intentarlo.',
  invalidNumber: 'Introduzca un número de teléfono válido.',
  countryNotAllowed: 'Lo sentimos, no podemos llamar a números de ese país.',
  numberNotAllowed: 'Lo sentimos, no podemos llamar a ese número.',
  callFailed: 'No pudimos realizar su llamada en este momento. Vuelva a intentarlo.',
};
