// Share links that reopen a puzzle: the kind and the puzzle ride in the address's fragment, so the link
// works on any copy of the playground and the server never stores or even sees it:
// `#sudoku=<81 characters>`, `#maze=<base64url of the rows joined by newlines>`, `#arc=<base64url of the
// task's JSON>` (base64url keeps spaces, quotes and newlines out of the address).
"use strict";

function base64UrlEncode(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  bytes.forEach((byte) => { binary += String.fromCharCode(byte); });
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function base64UrlDecode(code) {
  const binary = atob(code.replace(/-/g, "+").replace(/_/g, "/"));
  return new TextDecoder().decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0)));
}

function shareLink(kind, puzzle) {
  // puzzle: the Sudoku's or the maze's text, or the ARC task as an object. Throws when it is not valid.
  let fragment;
  if (kind === "sudoku") fragment = sudokuLine(puzzle);
  else if (kind === "maze") fragment = base64UrlEncode(mazeRows(puzzle).join("\n"));
  else fragment = base64UrlEncode(JSON.stringify(puzzle));
  return `${location.origin}/#${kind}=${fragment}`;
}

function sharedPuzzle(hash) {
  // {kind, puzzle} from an address's fragment as shareLink writes it; null when it holds none;
  // throws an Error saying what is wrong with a damaged one.
  const match = /^#(sudoku|maze|arc)=(.+)$/.exec(hash);
  if (!match) return null;
  const [, kind, fragment] = match;
  let text;
  try {
    text = kind === "sudoku" ? decodeURIComponent(fragment) : base64UrlDecode(fragment);
  } catch (error) {
    throw new Error(`the shared ${kind} in this link is damaged (${error.message})`);
  }
  if (kind === "sudoku") return {kind, puzzle: sudokuLine(text)};
  if (kind === "maze") return {kind, puzzle: mazeRows(text).join("\n")};
  return {kind, puzzle: JSON.parse(text)};
}
