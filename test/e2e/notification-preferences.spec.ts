import { NotificationsService } from '../../src/modules/notifications/notifications.service';
import { createCustomer } from '../factories/order.factory';
import { startTestApp, TestApp } from '../support/test-app';

const PATH = '/api/v1/users/profile/notifications';

describe('GET/PUT /users/profile/notifications', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await startTestApp();
  });
  afterAll(() => sut.close());

  async function customer() {
    const user = await createCustomer(sut.dataSource);
    const token = await sut.tokenFor({ id: user.id, email: user.email, role: 'customer' });
    return { user, auth: `Bearer ${token}` };
  }

  it('requires authentication', async () => {
    await sut.http().get(PATH).expect(401);
    await sut.http().put(PATH).send({ language: 'es' }).expect(401);
  });

  it('answers the defaults for a user who never chose', async () => {
    const { auth } = await customer();
    const res = await sut.http().get(PATH).set('authorization', auth).expect(200);
    expect(res.body).toEqual({
      channels: { email: true, sms: false },
      language: 'en',
      nonCriticalOptOut: false,
      marketingOptOut: false,
      phone: null,
    });
  });

  it('updates only the fields sent and keeps them', async () => {
    const { user, auth } = await customer();
    const res = await sut
      .http()
      .put(PATH)
      .set('authorization', auth)
      .send({ language: 'es', channels: { email: true, sms: true }, phone: '+34 612 34 56 78' })
      .expect(200);
    expect(res.body).toEqual({
      channels: { email: true, sms: true },
      language: 'es',
      nonCriticalOptOut: false,
      marketingOptOut: false,
      phone: '+34612345678',
    });
    await sut.http().put(PATH).set('authorization', auth).send({ marketingOptOut: true }).expect(200);
    const after = await sut.http().get(PATH).set('authorization', auth).expect(200);
    expect(after.body).toMatchObject({ language: 'es', marketingOptOut: true, phone: '+34612345678' });

    const [row] = await sut.dataSource.query(
      `SELECT preferred_language, phone, notification_preferences FROM users WHERE id = $1`,
      [user.id],
    );
    expect(row).toEqual({
      preferred_language: 'es',
      phone: '+34612345678',
      notification_preferences: {
        channels: { email: true, sms: true },
        nonCriticalOptOut: false,
        marketingOptOut: true,
      },
    });
  });

  it('changes one channel and keeps the other: a partial update is partial inside channels too', async () => {
    const { auth } = await customer();
    await sut.http().put(PATH).set('authorization', auth).send({ phone: '+14155552671' }).expect(200);
    // Before, `{"channels":{"sms":true}}` was a 400 demanding `email`.
    const sms = await sut
      .http()
      .put(PATH)
      .set('authorization', auth)
      .send({ channels: { sms: true } })
      .expect(200);
    expect(sms.body.channels).toEqual({ email: true, sms: true });
    await sut
      .http()
      .put(PATH)
      .set('authorization', auth)
      .send({ channels: { email: false } })
      .expect(200);
    const after = await sut.http().get(PATH).set('authorization', auth).expect(200);
    expect(after.body.channels).toEqual({ email: false, sms: true });
    // Left out is not null: a null channel is still refused.
    const nulled = await sut
      .http()
      .put(PATH)
      .set('authorization', auth)
      .send({ channels: { sms: null } })
      .expect(400);
    expect(nulled.body.errors).toEqual([{ field: 'channels.sms', message: expect.any(String) }]);
  });

  it('refuses invalid input with 400 problem details', async () => {
    const { auth } = await customer();
    for (const body of [
      { language: 'fr' },
      { channels: { email: 'yes', sms: false } },
      { phone: '12345' },
      { hack: 1 },
    ]) {
      const res = await sut.http().put(PATH).set('authorization', auth).send(body).expect(400);
      expect(res.body.errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ field: expect.any(String) })]),
      );
    }
  });

  it('refuses SMS without a phone number with 422 and changes nothing', async () => {
    const { auth } = await customer();
    await sut
      .http()
      .put(PATH)
      .set('authorization', auth)
      .send({ channels: { email: true, sms: true } })
      .expect(422);
    const res = await sut.http().get(PATH).set('authorization', auth).expect(200);
    expect(res.body.channels.sms).toBe(false);
  });

  it('is honoured by notifications: opting out of non-critical messages skips the welcome message', async () => {
    const { user, auth } = await customer();
    await sut.http().put(PATH).set('authorization', auth).send({ nonCriticalOptOut: true }).expect(200);
    const [welcome] = await sut
      .get(NotificationsService)
      .onUserRegistered({ userId: user.id, email: user.email, firstName: user.firstName, language: 'en' });
    expect(welcome.status).toBe('SKIPPED');
  });
});
