// Every test worker sees the stack's environment before any module reads its configuration.
import { inject } from 'vitest';
import { resetConfig } from '../lib/config';

Object.assign(process.env, inject('stackEnv'));
resetConfig();
