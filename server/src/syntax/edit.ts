/**
 * The edit between two texts, as tree-sitter wants it for an incremental reparse: the common
 * prefix and suffix stay, the middle is replaced. Indices and columns are string (UTF-16)
 * indices, as both backends parse JS strings; rows count `\n`.
 */
import type { InputEdit } from './backend';
import type { Point } from './nodes';

const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

/** Row and column of `index` in `text`. */
export function pointAt(text: string, index: number): Point {
  let row = 0;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) {
    row++;
    lineStart = i + 1;
  }
  return { row, column: index - lineStart };
}

export function textEdit(oldText: string, newText: string): InputEdit {
  const max = Math.min(oldText.length, newText.length);
  let start = 0;
  while (start < max && oldText.charCodeAt(start) === newText.charCodeAt(start)) start++;
  // never split a surrogate pair (charCodeAt past the end is NaN: no surrogate)
  if (start > 0 && isHigh(oldText.charCodeAt(start - 1)) && (isLow(oldText.charCodeAt(start)) || isLow(newText.charCodeAt(start)))) start--;
  let suffix = 0;
  const room = max - start;
  while (suffix < room && oldText.charCodeAt(oldText.length - 1 - suffix) === newText.charCodeAt(newText.length - 1 - suffix)) suffix++;
  if (suffix > 0 && isLow(oldText.charCodeAt(oldText.length - suffix))
    && (isHigh(oldText.charCodeAt(oldText.length - suffix - 1)) || isHigh(newText.charCodeAt(newText.length - suffix - 1)))) suffix--;
  const oldEnd = oldText.length - suffix;
  const newEnd = newText.length - suffix;
  const startPosition = pointAt(oldText, start);
  return {
    startIndex: start,
    oldEndIndex: oldEnd,
    newEndIndex: newEnd,
    startPosition,
    oldEndPosition: pointAt(oldText, oldEnd),
    newEndPosition: pointAt(newText, newEnd),
  };
}
