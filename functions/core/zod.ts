import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

/*
 * zod's mini API (https://zod.dev/packages/mini), configured: every schema module of rootwatch imports it from here,
 * as a namespace (`import * as z from './zod.js'`), which lets esbuild keep only the functions a bundle calls (a
 * namespace object passed around as a value would keep all of zod, its 40-odd locales included).
 * The mini API is the same library as the classic one (`import { z } from 'zod'`) in a functional form that a bundler
 * can tree-shake (`z.optional(s)` rather than `s.optional()`), so a Lambda bundle holds only the schemas and checks it
 * uses. It loads no locale of its own, and its issues would then read "Invalid input"; loading the English locale
 * here, once, gives every schema the messages of the classic API, word for word
 * (https://zod.dev/error-customization#internationalization). z.config is zod's global configuration, shared by both
 * APIs: the classic API configures the same English locale when it is loaded.
 */
config(en());

export * from 'zod/mini';
