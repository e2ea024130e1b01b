/** A small demo catalogue: enough to place orders right after `npm start`. */
export interface DemoProduct {
  sku: string;
  name: string;
  description: string;
  price: string;
  category: string;
  stock: number;
}

export const DEMO_CATALOGUE: DemoProduct[] = [
  {
    sku: 'KB-MECH-001',
    name: 'Mechanical Keyboard',
    description: 'Tenkeyless mechanical keyboard with hot-swappable brown switches.',
    price: '89.90',
    category: 'peripherals',
    stock: 120,
  },
  {
    sku: 'MS-WL-002',
    name: 'Wireless Mouse',
    description: 'Ergonomic wireless mouse, 2.4 GHz and Bluetooth, 70-day battery.',
    price: '34.50',
    category: 'peripherals',
    stock: 200,
  },
  {
    sku: 'MN-27-4K',
    name: '27" 4K Monitor',
    description: 'IPS panel, 3840x2160, USB-C with 65 W power delivery.',
    price: '329.00',
    category: 'displays',
    stock: 40,
  },
  {
    sku: 'HD-NC-004',
    name: 'Noise-Cancelling Headphones',
    description: 'Over-ear headphones with active noise cancelling and 30 h battery.',
    price: '199.99',
    category: 'audio',
    stock: 75,
  },
  {
    sku: 'CB-USBC-005',
    name: 'USB-C Cable 2 m',
    description: 'Braided USB-C to USB-C cable, 100 W, 10 Gbps.',
    price: '12.99',
    category: 'accessories',
    stock: 500,
  },
  {
    sku: 'DK-TB4-006',
    name: 'Thunderbolt 4 Dock',
    description: 'Docking station with two 4K outputs, 2.5 GbE and 96 W charging.',
    price: '249.00',
    category: 'accessories',
    stock: 30,
  },
  {
    sku: 'SS-NVME-007',
    name: '1 TB NVMe SSD',
    description: 'PCIe 4.0 NVMe solid-state drive, 7000 MB/s reads.',
    price: '79.95',
    category: 'storage',
    stock: 150,
  },
  {
    sku: 'WC-HD-008',
    name: 'HD Webcam',
    description: '1080p webcam with dual microphones and privacy shutter.',
    price: '49.00',
    category: 'peripherals',
    stock: 90,
  },
  {
    sku: 'LS-ALU-009',
    name: 'Aluminium Laptop Stand',
    description: 'Adjustable aluminium stand for laptops up to 17 inches.',
    price: '29.90',
    category: 'accessories',
    stock: 160,
  },
  {
    sku: 'SP-BT-010',
    name: 'Bluetooth Speaker',
    description: 'Portable waterproof speaker with 12 h of playback.',
    price: '59.00',
    category: 'audio',
    stock: 80,
  },
  {
    sku: 'MC-USB-011',
    name: 'USB Condenser Microphone',
    description: 'Cardioid condenser microphone for streaming and calls.',
    price: '99.00',
    category: 'audio',
    stock: 45,
  },
  {
    sku: 'LE-LTD-012',
    name: 'Limited Edition Desk Mat',
    description: 'Numbered desk mat from a limited run: only a few in stock.',
    price: '24.00',
    category: 'accessories',
    stock: 3,
  },
];
