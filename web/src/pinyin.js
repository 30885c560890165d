// Pinyin initials of Chinese text, with no dictionary: the zh collation (pinyin order) of the
// browser's ICU places each character between the first characters of two initials. Exact
// for common characters, which is all an item name has; a dictionary would cost ~200 KB.
const BOUNDS = '阿八嚓哒妸发旮哈讥咔垃妈拏噢妑七呥撒它穵夕丫帀'
const LETTERS = 'ABCDEFGHJKLMNOPQRSTWXYZ'
const collator = new Intl.Collator('zh-Hans-CN-u-co-pinyin')

export function initial(ch) {
  if (/[a-z0-9]/i.test(ch)) return ch.toUpperCase()
  if (!/[\u4e00-\u9fff]/.test(ch)) return ''
  let found = ''
  for (let i = 0; i < BOUNDS.length; i++) {
    if (collator.compare(ch, BOUNDS[i]) >= 0) found = LETTERS[i]
    else break
  }
  return found
}

export function initials(text) {
  let out = ''
  for (const ch of text) out += initial(ch)
  return out
}

// Does an item match what was typed: its name or keywords, or the initials of either.
export function matches(item, typed) {
  const q = typed.trim().toLowerCase()
  if (!q) return true
  if (item.name.includes(q) || item.code.startsWith(q)) return true
  if ((item.keywords || []).some((k) => k.includes(q))) return true
  if (/^[a-z]+$/.test(q)) {
    if (!item._initials) {
      item._initials = [item.name, ...(item.keywords || [])].map((t) => initials(t).toLowerCase())
    }
    return item._initials.some((s) => s.includes(q))
  }
  return false
}
