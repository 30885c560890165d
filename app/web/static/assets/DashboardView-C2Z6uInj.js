import{_ as e,c,k as r}from"./index-D9VktKp9.js";const n={};function o(t,a){return r(),c("h1",null,"建设中")}const _=e(n,[["render",o]]);export{_ as default};
