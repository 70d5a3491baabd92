/** A reason the server or a command cannot start, said to the operator as it is (no stack). */
export class StartupError extends Error {}
