// truncate: at most max UTF-16 units, an ellipsis when cut, never half a surrogate pair (an emoji cut in two would
// be a lone surrogate, which Slack and JSON encoders reject or mangle).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { truncate } from '../../src/core/text';

describe('truncate', () => {
  test('text that fits is kept whole; text one unit too long is cut to max, the last unit an ellipsis', () => {
    assert.equal(truncate('abcde', 5), 'abcde');
    assert.equal(truncate('abcdef', 5), 'abcd…');
    assert.equal(truncate('abcdef', 5).length, 5);
    assert.equal(truncate('abcdef', 1), '…');
    assert.equal(truncate('abcdef', 0), '…');
    assert.equal(truncate('', 0), '');
  });

  test('a surrogate pair at the cut is dropped whole, from the lowest to the highest high surrogate', () => {
    // U+1F600 is \uD83D\uDE00; U+10000 is \uD800\uDC00; U+10FC00 is \uDBFF\uDC00.
    for (const pair of ['\u{1F600}', '\u{10000}', '\u{10FC00}']) {
      const out = truncate(`a${pair}bc`, 3);
      assert.equal(out, 'a…', JSON.stringify(pair));
    }
    // A complete pair before the cut stays; a BMP character just below the surrogates (U+D7FF) and the first one after
    // them (U+E000) are ordinary characters.
    assert.equal(truncate('x\u{1F600}yz', 4), 'x\u{1F600}…');
    assert.equal(truncate('a\uD7FFbc', 3), 'a\uD7FF…');
    assert.equal(truncate('a\uE000bc', 3), 'a\uE000…');
  });
});
