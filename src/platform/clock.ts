import { Injectable } from '@nestjs/common';

/** The time, behind a class so that tests set it instead of sleeping. */
export abstract class Clock {
  abstract now(): Date;
}

@Injectable()
export class SystemClock extends Clock {
  now(): Date {
    return new Date();
  }
}
