import { BadRequestException } from '@nestjs/common';
import { createValidationPipe } from '../../../platform/http/validation';
import { RefundOrderDto } from './order-actions.dto';

describe(RefundOrderDto.name, () => {
  const sut = createValidationPipe();
  const validate = (body: unknown): Promise<unknown> =>
    sut.transform(body, { type: 'body', metatype: RefundOrderDto });
  const errorsOf = async (body: unknown): Promise<unknown> => {
    const error = await validate(body).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BadRequestException);
    return ((error as BadRequestException).getResponse() as { errors: unknown }).errors;
  };

  describe('amount, like a price, is a string or a number', () => {
    it.each([
      ['10.5', '10.50'],
      [10.5, '10.50'],
      [12, '12.00'],
      ['0.01', '0.01'],
    ])('accepts %p as %p', async (amount, expected) => {
      await expect(validate({ amount })).resolves.toEqual({ amount: expected });
    });

    it('may be left out (refund everything still refundable)', async () => {
      await expect(validate({})).resolves.toEqual({});
    });

    it.each([
      [12.345, 'amount must have at most 2 decimals'],
      ['12.345', 'amount must have at most 2 decimals'],
      [0, 'amount must be greater than 0'],
      ['-1', 'amount must be greater than 0'],
      ['12345678901', 'amount must be at most 9999999999.99'],
      [null, 'amount must be a decimal amount, as a string or a number (e.g. "19.99")'],
      [true, 'amount must be a decimal amount, as a string or a number (e.g. "19.99")'],
    ])('refuses %p saying why', async (amount, message) => {
      await expect(errorsOf({ amount })).resolves.toEqual([{ field: 'amount', message }]);
    });
  });
});
