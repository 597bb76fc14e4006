/** Herald's release, as delivery's User-Agent names it. */
export const HERALD_VERSION = "0.1.0";
