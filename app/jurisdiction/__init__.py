"""The jurisdiction tree (street 街道 → community 社区 → grid 网格) and functional departments."""
