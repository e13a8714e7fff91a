// Preact with htm tagged templates: the one way views build their markup.
import { h, render, Fragment } from "../vendor/preact.mjs";
import {
  useState, useEffect, useMemo, useRef, useCallback, useReducer,
} from "../vendor/preact-hooks.mjs";
import htm from "../vendor/htm.mjs";

export const html = htm.bind(h);
export { h, render, Fragment, useState, useEffect, useMemo, useRef, useCallback, useReducer };
