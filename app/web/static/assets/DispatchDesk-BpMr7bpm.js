import{_ as e,c,k as t}from"./index-ud3ZK99H.js";const n={};function r(s,o){return t(),c("h1",null,"建设中")}const _=e(n,[["render",r]]);export{_ as default};
