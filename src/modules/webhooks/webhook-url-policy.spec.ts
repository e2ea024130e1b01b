import { isForbiddenAddress, targetProblem, urlShapeProblem } from './webhook-url-policy';

describe('webhook URL policy', () => {
  const strict = { allowInsecure: false, allowPrivateTargets: false };

  describe(isForbiddenAddress.name, () => {
    it.each([
      '127.0.0.1',
      '127.5.6.7',
      '10.0.0.1',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fe80::1',
      'fd00:ec2::254',
      'fc00::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      'not-an-ip',
    ])('refuses %s', (address) => {
      expect(isForbiddenAddress(address)).toBe(true);
    });

    it.each([
      '93.184.216.34',
      '8.8.8.8',
      '172.32.0.1',
      '2606:2800:220:1:248:1893:25c8:1946',
      '::ffff:8.8.8.8',
    ])('accepts the public address %s', (address) => {
      expect(isForbiddenAddress(address)).toBe(false);
    });
  });

  describe(urlShapeProblem.name, () => {
    it('accepts https', () => {
      expect(urlShapeProblem('https://erp.example.com/hooks?x=1', strict)).toBeUndefined();
    });

    it('refuses http unless insecure URLs are allowed', () => {
      expect(urlShapeProblem('http://erp.example.com/', strict)).toMatch(/https/);
      expect(urlShapeProblem('http://erp.example.com/', { ...strict, allowInsecure: true })).toBeUndefined();
    });

    it.each([
      ['not a url', /absolute URL/],
      ['ftp://example.com/x', /https/],
      ['file:///etc/passwd', /https/],
      ['https://user:pw@example.com/', /credentials/],
      ['https://example.com/#frag', /fragment/],
      [`https://example.com/${'a'.repeat(2100)}`, /2048/],
    ])('refuses %s', (url, message) => {
      expect(urlShapeProblem(url, strict)).toMatch(message);
    });
  });

  describe(targetProblem.name, () => {
    it('refuses a literal private address and a name resolving to loopback', async () => {
      expect(await targetProblem(new URL('https://10.0.0.8/'), strict)).toMatch(/private/);
      expect(await targetProblem(new URL('https://[::1]/'), strict)).toMatch(/loopback/);
      expect(await targetProblem(new URL('https://localhost/'), strict)).toMatch(/localhost resolves to/);
      // Numeric spellings of loopback are normalised by the URL parser before the check.
      expect(await targetProblem(new URL('https://2130706433/'), strict)).toMatch(/127\.0\.0\.1/);
      expect(await targetProblem(new URL('https://0x7f.1/'), strict)).toMatch(/127\.0\.0\.1/);
    });

    it('accepts a literal public address', async () => {
      expect(await targetProblem(new URL('https://93.184.216.34/'), strict)).toBeUndefined();
    });

    it('refuses a name that does not resolve', async () => {
      expect(await targetProblem(new URL('https://does-not-exist.invalid/'), strict)).toMatch(
        /could not be resolved/,
      );
    });

    it('lets everything through when private targets are allowed', async () => {
      expect(
        await targetProblem(new URL('https://127.0.0.1/'), { ...strict, allowPrivateTargets: true }),
      ).toBeUndefined();
    });
  });
});
