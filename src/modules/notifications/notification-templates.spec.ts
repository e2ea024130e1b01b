import {
  LANGUAGES,
  NotificationTemplates,
  TEMPLATE_NAMES,
  TemplateDataError,
} from './notification-templates';

const ORDER = {
  orderNumber: 'AOP-1001',
  customerName: 'Ada',
  currency: 'EUR',
  totalAmount: '1234.50',
  items: [
    { name: 'Mechanical keyboard', quantity: 2, unitPrice: '99.90', lineTotal: '199.80' },
    { name: 'Monitor <4K>', quantity: 1, unitPrice: '1034.70', lineTotal: '1034.70' },
  ],
  trackingNumber: '1Z999AA10123456784',
  reason: 'card_declined',
  refundAmount: '1234.50',
};

describe(NotificationTemplates.name, () => {
  const sut = new NotificationTemplates();

  it.each(TEMPLATE_NAMES.flatMap((t) => LANGUAGES.map((l) => [t, l] as const)))(
    '%s renders in %s for email and SMS with its variables',
    (template, language) => {
      const email = sut.render(template, language, 'email', ORDER);
      const sms = sut.render(template, language, 'sms', ORDER);
      expect(email.version).toBe(1);
      expect(email.subject).not.toMatch(/{{|}}/);
      expect(email.body).toMatch(/^<!doctype html>/);
      expect(email.body).toContain('Ada');
      expect(sms.body).not.toMatch(/<[a-z]/);
      expect(sms.body).toContain('Ada');
      if (template !== 'welcome') {
        expect(email.subject).toContain('AOP-1001');
      }
    },
  );

  it('lists the items and totals of an order confirmation, money formatted per language', () => {
    const en = sut.render('order-confirmation', 'en', 'email', ORDER);
    expect(en.subject).toBe('Order AOP-1001 confirmed');
    expect(en.body).toContain('Mechanical keyboard');
    expect(en.body).toContain('€199.80');
    expect(en.body).toContain('€1,234.50');
    expect(en.body).toContain('Monitor &lt;4K&gt;');

    const es = sut.render('order-confirmation', 'es', 'email', ORDER);
    expect(es.subject).toBe('Pedido AOP-1001 confirmado');
    expect(es.body).toContain('¡Gracias, Ada!');
    expect(es.body).toContain('199,80\u00a0€');
    expect(es.body).toMatch(/1\.?234,50\u00a0€/);
  });

  it('puts the tracking number in the shipping update', () => {
    expect(sut.render('shipping-update', 'es', 'sms', ORDER).body).toBe(
      'Hola Ada, el pedido AOP-1001 ha sido enviado. Número de seguimiento: 1Z999AA10123456784.',
    );
  });

  it('does not HTML-escape subjects and SMS texts', () => {
    const rendered = sut.render('welcome', 'en', 'sms', { customerName: "O'Brien & Co" });
    expect(rendered.subject).toBe("Welcome, O'Brien & Co!");
    expect(rendered.body).toBe("Welcome, O'Brien & Co! Your account is ready.");
  });

  it('refuses data missing a variable the template needs', () => {
    expect(() =>
      sut.render('shipping-update', 'en', 'email', { orderNumber: 'X', customerName: 'Y' }),
    ).toThrow(TemplateDataError);
  });
});
