import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NotificationPriority } from '../../platform/queue/job-priority';
import { NotificationChannel } from './notification-provider';

export type Language = 'en' | 'es';
export const LANGUAGES: readonly Language[] = ['en', 'es'];

/**
 * Every template, its current version, how urgent it is and the variables it needs. Files live in
 * templates/<language>/<name>.v<version>.<subject|html|text>.hbs; a new version is a new file, so
 * notifications already recorded keep saying which version they were rendered with.
 */
export const TEMPLATES = {
  'order-confirmation': {
    version: 1,
    priority: 'critical',
    variables: ['orderNumber', 'customerName', 'items', 'totalAmount', 'currency'],
  },
  'payment-failed': {
    version: 1,
    priority: 'critical',
    variables: ['orderNumber', 'customerName', 'totalAmount', 'currency'],
  },
  'order-cancelled': {
    version: 1,
    priority: 'critical',
    variables: ['orderNumber', 'customerName', 'currency'],
  },
  'shipping-update': {
    version: 1,
    priority: 'normal',
    variables: ['orderNumber', 'customerName', 'trackingNumber'],
  },
  welcome: { version: 1, priority: 'normal', variables: ['customerName'] },
} as const satisfies Record<
  string,
  { version: number; priority: NotificationPriority; variables: readonly string[] }
>;

export type TemplateName = keyof typeof TEMPLATES;
export const TEMPLATE_NAMES = Object.keys(TEMPLATES) as TemplateName[];

export interface RenderedMessage {
  subject: string;
  /** HTML for email, plain text for SMS. */
  body: string;
  version: number;
}

const LOCALES: Record<Language, string> = { en: 'en-US', es: 'es-ES' };

export class TemplateDataError extends Error {}

/**
 * Renders the Handlebars templates, compiled once and cached. Each language has its own Handlebars
 * environment so `{{money amount currency}}` formats as its readers expect (1,234.50 $ vs 1234,50 €).
 */
export class NotificationTemplates {
  private readonly environments = new Map<Language, typeof Handlebars>();
  private readonly compiled = new Map<string, Handlebars.TemplateDelegate>();

  constructor(private readonly directory = join(__dirname, 'templates')) {
    for (const language of LANGUAGES) {
      const env = Handlebars.create();
      // Building a NumberFormat costs ~60x using one (25 µs, several per email): one per currency.
      const formats = new Map<string, Intl.NumberFormat>();
      const format = (amount: unknown, currency: unknown) => {
        const code = String(currency);
        let formatter = formats.get(code);
        if (!formatter) {
          formatter = new Intl.NumberFormat(LOCALES[language], { style: 'currency', currency: code });
          formats.set(code, formatter);
        }
        // Display only: the amount is already exact; Intl just lays it out.
        return formatter.format(Number(amount));
      };
      env.registerHelper('money', format);
      this.environments.set(language, env);
    }
  }

  render(
    template: TemplateName,
    language: Language,
    channel: NotificationChannel,
    data: Record<string, unknown>,
  ): RenderedMessage {
    const definition = TEMPLATES[template];
    const missing = definition.variables.filter((name) => data[name] === undefined || data[name] === null);
    if (missing.length > 0) {
      throw new TemplateDataError(`Template ${template} needs ${missing.join(', ')}`);
    }
    const part = (kind: 'subject' | 'html' | 'text') =>
      this.template(template, definition.version, language, kind)(data).trim();
    return {
      subject: part('subject'),
      body: channel === 'email' ? part('html') : part('text'),
      version: definition.version,
    };
  }

  private template(
    name: TemplateName,
    version: number,
    language: Language,
    kind: 'subject' | 'html' | 'text',
  ): Handlebars.TemplateDelegate {
    const file = join(this.directory, language, `${name}.v${version}.${kind}.hbs`);
    let compiled = this.compiled.get(file);
    if (!compiled) {
      // Only HTML is escaped: a subject or an SMS with "&amp;" in it would read wrong.
      compiled = this.environments.get(language)!.compile(readFileSync(file, 'utf8'), {
        noEscape: kind !== 'html',
        strict: false,
      });
      this.compiled.set(file, compiled);
    }
    return compiled;
  }
}
