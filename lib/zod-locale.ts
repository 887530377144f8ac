// zod/mini carries no messages of its own: without a locale every issue reads "Invalid input".
// Classic zod installs English when it loads; modules that use only zod/mini import this instead,
// so a 400 names the same problem whichever flavour of the one zod core validated it.

import { en } from 'zod/locales';
import { config } from 'zod/mini';

config(en());
