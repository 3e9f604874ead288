export * from './copenhagen.ts';
export * from './holidays.ts';
export * from './workingDayCalendar.ts';
export * from './age.ts';
