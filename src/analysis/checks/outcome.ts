import type { Evaluation } from '../types.js'

/** What a check kind decides; evaluateCheck adds the check's identity, time and threshold. */
export type CheckOutcome = Pick<Evaluation, 'value' | 'verdict' | 'message' | 'details'>
