import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * JSON logs. Fields named like secrets are censored at the top level and one level down, as a second
 * line of defence: the code never logs secrets on purpose.
 */
export function createLogger(level: LoggerOptions['level'] = 'info', destination?: NodeJS.WritableStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: 'beckon-server' },
    redact: {
      paths: [
        'secret',
        '*.secret',
        'token',
        '*.token',
        'authorization',
        '*.authorization',
        'headers.authorization',
        'headers["x-update-secret"]',
        'password',
        '*.password',
      ],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** `+1813•••1234`: enough to tell numbers apart in a log, not enough to call one. */
export function maskPhone(number: string | undefined): string {
  if (!number) return '';
  const digits = number.replace(/\D/g, '');
  if (digits.length <= 4) return '•'.repeat(digits.length);
  const prefix = number.startsWith('+') ? `+${digits.slice(0, Math.min(4, digits.length - 4))}` : '';
  return `${prefix}•••${digits.slice(-4)}`;
}
