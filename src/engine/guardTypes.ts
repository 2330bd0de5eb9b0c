/** The guards' shapes live in src/shared (the faces read them too). */
export type * from '../shared/guardTypes';
