import{_ as e,c,k as r}from"./index-ud3ZK99H.js";const n={};function o(t,a){return r(),c("h1",null,"建设中")}const _=e(n,[["render",o]]);export{_ as default};
