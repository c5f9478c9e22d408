// Package text holds the haystack text of the model tasks: sentences from
// deterministic sources, written here or read from the user's files, and
// the random keys and values that tasks hide in them.
//
// Sources (all behind Source, which hands out a Stream of sentences one at a
// time, so a task takes exactly as many as it needs):
//
//   - Essays: procedural English-like essays from a small grammar (sentence
//     templates of subject, verb and object phrases, subordinate clauses,
//     paragraphs on one topic) over word lists written for this project
//     (about 3,000 words: adjectives, adverbs, transitive and intransitive
//     verbs, people, things, and 44 topics with their own people and
//     things). The lists are embedded zstd-compressed (words.zst); their
//     source is testdata/words.txt, and TestWordsEmbedded rebuilds (with
//     -update) and checks the embedded copy.
//   - Noise: RULER's filler, the five sentences "The grass is green. The sky
//     is blue. The sun is yellow. Here we go. There and back again."
//     repeated in that order (the seed is ignored).
//   - Corpus: the user's text, a directory of .txt files (read recursively
//     in lexical path order) or a JSONL file of objects with a "text" field
//     (optionally zstd-compressed), split into paragraphs and sentences.
//
// Decisions:
//
//   - Determinism: every random choice comes from math/rand/v2's PCG (a
//     specified generator) seeded explicitly and drawn with integer methods
//     only (IntN, Perm, Uint64, which math/rand/v2 computes identically on
//     32- and 64-bit platforms); no map is iterated and no float is
//     formatted, so a seed gives byte-identical text on every machine.
//     Golden files in testdata pin the output, so that a change (ours, or
//     of those methods in a future Go release) cannot pass unnoticed.
//   - A Sentence is one sentence without surrounding whitespace, plus whether
//     it starts a paragraph; Join puts "\n\n" before paragraph starts and a
//     space elsewhere.
//   - Essays are grammatical by construction (articles, agreement, tense per
//     essay, mass nouns) but their content is random: plausible prose, not
//     meaningful prose. Each essay keeps one topic for 3 to 6 paragraphs, and
//     most nouns come from that topic.
//   - Corpus sentences are split at ., ! or ? (and closing quotes or
//     brackets) followed by white space and a letter that is not lower case,
//     except after common abbreviations and single-letter initials;
//     white space is collapsed to single spaces; invalid UTF-8 becomes
//     U+FFFD; a sentence longer than 1,000 bytes is split at the first space
//     after that, so that no unit of a haystack is huge. A corpus stream
//     takes the documents in an order shuffled by the seed, each document's
//     sentences in order, and reshuffles after each pass: it never ends.
//   - Keys and values (Kind): words are adjective-noun pairs joined by a
//     hyphen from the word lists ("quiet-harbor"), numbers have 7 digits
//     (the first not 0), UUIDs are version 4 UUIDs whose 122 random bits
//     come from the seeded generator.
//   - Words to count (the aggregation tasks): Vocabulary is the lexicon's
//     distinct single words without those contained in another (about
//     1,870), so that no word of it is a substring of another; a
//     WordSequence deals them in a seeded order and goes on with
//     seven-letter pseudo-words ("bamirot") that neither contain nor are
//     contained in a vocabulary word, leaving out words found in a given
//     text (the prompt's own wording). CodedWords draws RULER's coded
//     words: distinct random strings of lower-case letters.
package text
