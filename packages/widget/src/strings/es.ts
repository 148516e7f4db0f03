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
};
