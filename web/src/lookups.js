// Names for codes, from the API, fetched once per login.
import { cached } from './api.js'

export async function departmentNames() {
  const list = await cached('/departments')
  return Object.fromEntries(list.map((d) => [d.code, d.name]))
}

// Every grid of the caller's tree that is in scope: [{code, name, community}].
export async function myGrids() {
  const tree = await cached('/jurisdictions')
  const grids = []
  const walk = (node, community) => {
    if (node.level === 'grid' && node.in_scope) grids.push({ code: node.code, name: node.name, community })
    for (const child of node.children || []) walk(child, node.level === 'community' ? node.code : community)
  }
  tree.forEach((n) => walk(n, null))
  return grids
}

export async function nodeNames() {
  const tree = await cached('/jurisdictions')
  const names = {}
  const walk = (node) => { names[node.code] = node.name; (node.children || []).forEach(walk) }
  tree.forEach(walk)
  return names
}
