/** A line of an order as priced when it was accepted; amounts are exact decimal strings in the order's currency. */
export interface OrderLine {
  productId: string;
  sku: string;
  name: string;
  unitPrice: string;
  quantity: number;
  lineTotal: string;
}
