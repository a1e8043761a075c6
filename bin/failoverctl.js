#!/usr/bin/env node
// failoverctl runs from its TypeScript source through tsx, so a clone works without a build step.
require('tsx/cjs');
require('./failoverctl.ts');
